"""A demo team seeded into assignment when nothing else is configured (embedded mode, make up)."""

import json

DEMO_AGENTS = json.dumps([
    {"name": "Giulia Rossi", "team": "mobile", "capacity": 6, "presence": "online"},
    {"name": "Marco Bianchi", "team": "fixed-line", "capacity": 6, "presence": "online"},
    {"name": "Sara Conti", "team": "business", "capacity": 7, "presence": "online"},
])
