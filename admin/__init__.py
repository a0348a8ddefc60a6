"""The web desk for clerks and supervisors (Flask)."""
