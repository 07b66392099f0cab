"""The one-place rules, checked over the source (an AST read of every app's non-test modules).

What is checked:

1. **Errors go through a catalogue.** Outside ``core/errors.py`` no code calls ``DomainError(``
   directly, no ``ApiError(`` gets a string-literal code, and no ``DomainError`` subclass passes
   a string-literal code to ``super().__init__``: every raise names an ``ErrorCode`` member
   (``<App>Error.NAME.error(...)``).
2. **Codes are unique.** Every code in every catalogue (each app's ``errors.py``, ``CoreError``,
   ``RequestError``) appears once: no two members, in one catalogue or across catalogues, share a
   code (an ``Enum`` would silently make the second an alias), and each is snake_case with a 4xx
   or 5xx status and a sentence.
3. **The kernel names no domain.** ``core``, ``payments``, ``exceptionqueue`` and ``webhooks``
   import no domain app, and none of their modules holds the code of an exception kind a domain
   registers (domains register their kinds in ``AppConfig.ready()``).

``NOT_YET_CONVERTED`` lists the apps rule 1 skips (none now: every app is converted).
"""

from __future__ import annotations

import ast
import importlib
import pathlib
import re

from django.apps import apps as django_apps

from core.errors import ErrorCode

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The project's own apps (those whose package sits at the top of the repository).
APPS = tuple(
    config.name
    for config in django_apps.get_app_configs()
    if pathlib.Path(config.path).parent == ROOT
)
KERNEL = ("core", "payments", "exceptionqueue", "webhooks")
DOMAINS = ("payouts", "billing", "appointments", "reconciliation")
NOT_YET_CONVERTED: set[str] = set()  # every app raises through its catalogue
CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _sources(apps):
    """(path, AST) of every non-test, non-migration module of ``apps``."""
    for app in apps:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            yield path, ast.parse(path.read_text(), filename=str(path))


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal_code(call: ast.Call) -> bool:
    first = call.args[0] if call.args else None
    code = next((kw.value for kw in call.keywords if kw.arg == "code"), first)
    return isinstance(code, ast.Constant) and isinstance(code.value, str)


def _inline_codes(path: pathlib.Path, tree: ast.AST) -> list[str]:
    where = str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _called_name(node)
            if name == "DomainError" and where != "core/errors.py":
                found.append(f"{where}:{node.lineno} DomainError(...) outside a catalogue")
            elif name == "ApiError" and _literal_code(node):
                found.append(f"{where}:{node.lineno} ApiError with a string-literal code")
        if isinstance(node, ast.ClassDef) and any(
            getattr(base, "id", getattr(base, "attr", None)) == "DomainError" for base in node.bases
        ):
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "__init__"
                    and _literal_code(call)
                ):
                    found.append(f"{where}:{call.lineno} {node.name} passes a literal code")
    return found


def test_every_domain_error_is_raised_through_a_catalogue_member():
    apps = [app for app in APPS if app not in NOT_YET_CONVERTED]
    offenders = [hit for path, tree in _sources(apps) for hit in _inline_codes(path, tree)]
    assert offenders == []


def test_the_scan_finds_an_inline_code():
    """The check above can fail: a literal DomainError and ApiError are reported."""
    tree = ast.parse(
        "raise DomainError('x', 'y')\n"
        "raise ApiError('x', 'y', 409)\n"
        "class Refused(DomainError):\n"
        "    def __init__(self):\n"
        "        super().__init__('refused', 'no')\n"
    )
    assert len(_inline_codes(ROOT / "sample" / "services.py", tree)) == 3


def _catalogues() -> list[type[ErrorCode]]:
    """Every catalogue: each app's ``errors`` module imported, then every ErrorCode subclass."""
    for app in APPS:
        if (ROOT / app / "errors.py").exists():
            importlib.import_module(f"{app}.errors")

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return [
        cls
        for cls in subclasses(ErrorCode)
        if cls.__module__.split(".")[0] in APPS and ".tests" not in cls.__module__
    ]


def test_every_code_is_written_once_in_the_catalogues():
    seen: dict[str, str] = {}
    twice = []
    for catalogue in _catalogues():
        for name, member in catalogue.__members__.items():  # aliases included
            where = f"{catalogue.__module__}.{catalogue.__name__}.{name}"
            if member.code in seen:
                twice.append(f"{member.code}: {seen[member.code]} and {where}")
            seen.setdefault(member.code, where)
            assert CODE_RE.match(member.code), where
            assert 400 <= member.status < 600, where
            assert member.sentence.strip(), where
    assert twice == []
    assert {"transition_not_allowed", "invalid", "invalid_event_type"} <= set(seen)
    assert {"core", "webhooks", "payouts"} <= set(APPS)


def test_the_kernel_imports_no_domain():
    pattern = re.compile(rf"^\s*(from|import)\s+({'|'.join(DOMAINS)})\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for app in KERNEL
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.parts and pattern.search(path.read_text())
    ]
    assert offenders == []


def _domain_kind_codes() -> set[str]:
    codes: set[str] = set()
    for app in DOMAINS:
        if (ROOT / app / "exception_kinds.py").exists():
            module = importlib.import_module(f"{app}.exception_kinds")
            codes |= {str(kind) for kind in module.KINDS}
    return codes


def test_the_kernel_names_no_domain_kind():
    domain_kinds = _domain_kind_codes()
    assert "refund_drift" in domain_kinds  # payouts registers its kinds
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value}"
        for path, tree in _sources(KERNEL)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in domain_kinds
    ]
    assert offenders == []


def test_the_apps_register_their_own_kinds():
    from exceptionqueue.kinds import exception_kind

    assert exception_kind("refund_drift").blocking is True  # payouts
    assert exception_kind("amount_mismatch").severity == "critical"  # payments
    assert exception_kind("webhook_delivery_failed").blocking is False  # webhooks
