"""Login and logout of the desk (Django's auth views, the desk's templates)."""

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy


class DeskLoginView(auth_views.LoginView):
    template_name = "desk/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return str(reverse_lazy("desk:home"))


class DeskLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("desk:login")
