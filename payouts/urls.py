from django.urls import path

from payouts import views

urlpatterns = [path("q/<str:code>", views.qr_landing, name="payouts-qr-landing")]
