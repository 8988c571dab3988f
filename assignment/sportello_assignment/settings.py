"""Assignment's settings (environment variables prefixed ``SPORTELLO_``)."""

from sportello.settings import ServiceSettings


class AssignmentSettings(ServiceSettings):
    # A JSON list of {"name", "team", "capacity", "presence"} created at start when missing (keyed
    # by name), so a fresh installation or demo has agents before anyone calls the API.
    assignment_seed_agents: str = ""
