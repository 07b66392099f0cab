from django.urls import path

from desk.views import actions, auth, imports, pages

app_name = "desk"

urlpatterns = [
    path("", pages.home, name="home"),
    path("login/", auth.DeskLoginView.as_view(), name="login"),
    path("logout/", auth.DeskLogoutView.as_view(), name="logout"),
    path("switch/", actions.switch, name="switch"),
    path("<slug:slug>/", pages.periods, name="periods"),
    path("<slug:slug>/periods/new/", actions.create_period, name="period-create"),
    path("<slug:slug>/periods/<int:period_id>/", pages.period, name="period"),
    path("<slug:slug>/periods/<int:period_id>/close/", actions.close, name="period-close"),
    path("<slug:slug>/periods/<int:period_id>/reopen/", actions.reopen, name="period-reopen"),
    path("<slug:slug>/periods/<int:period_id>/export.csv", pages.export_csv, name="export-csv"),
    path("<slug:slug>/periods/<int:period_id>/export.xlsx", pages.export_xlsx, name="export-xlsx"),
    path("<slug:slug>/cases/<int:case_id>/resolve/", actions.resolve_case, name="case-resolve"),
    path("<slug:slug>/imports/", imports.imports, name="imports"),
    path("<slug:slug>/imports/<int:job_id>/", imports.import_job, name="import-job"),
]
