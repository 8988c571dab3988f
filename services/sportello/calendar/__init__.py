"""Business calendars: a time zone, weekly shifts, holidays and special days, and the working time
between instants. Shared because SLA deadlines (priority) and agents' shifts (assignment) are both
read on them."""

from sportello.calendar.calendar import WEEKDAY_NAMES, BusinessCalendar, Shift
from sportello.calendar.wallclock import as_utc

__all__ = ["WEEKDAY_NAMES", "BusinessCalendar", "Shift", "as_utc"]
