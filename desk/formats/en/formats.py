# English dates as payops shows them (the desk and the admin), one format on every page:
# 30 Nov 2026 and 30 Nov 2026, 14:05 (Django's own "en" mixes "Nov. 30, 2026" with "11/30/2026"
# and a 12-hour clock). Numbers and input formats stay Django's.
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "F Y"
FIRST_DAY_OF_WEEK = 1
