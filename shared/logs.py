"""How the ceval command's processes write their log lines (a collector's store process among them)."""

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
