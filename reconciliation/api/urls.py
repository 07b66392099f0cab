from rest_framework.routers import SimpleRouter

from reconciliation.api import views

router = SimpleRouter()
router.register("provider-reports", views.ProviderReportViewSet, basename="provider-report")
router.register(
    "reconciliation-runs", views.ReconciliationRunViewSet, basename="reconciliation-run"
)
router.register("bank-statements", views.BankStatementViewSet, basename="bank-statement")
router.register("accounting-periods", views.AccountingPeriodViewSet, basename="accounting-period")

urlpatterns = router.urls
