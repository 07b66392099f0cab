from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("callbacks/<str:provider>/", views.provider_callback, name="callback"),
    path("payments/return/<str:order_number>/", views.payment_return, name="return"),
    path(
        "sandbox/bpc/payment/rest/<str:method>",
        views.sandbox_rest,
        name="sandbox-rest",
    ),
    path("sandbox/bpc/checkout/<uuid:order_id>/", views.sandbox_checkout, name="sandbox-checkout"),
]
