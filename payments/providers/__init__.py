"""Provider adapters: one module per gateway, all speaking the interface of ``base``."""
