"""Gateway: the one REST API the front-ends call. It serves a read model of conversations built
from the events (received, scored, assigned, queued); it never reads another service's schema."""
