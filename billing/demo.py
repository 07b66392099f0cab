def seed_demo(*, stdout) -> None:
    pass
