"""Demo data for appointment payments (filled in below)."""


def seed_demo(*, stdout) -> None:
    return None
