def seed_demo(*, stdout) -> None:  # filled in below
    pass
