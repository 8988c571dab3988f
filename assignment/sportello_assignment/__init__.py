"""Assignment: gives each scored conversation an owner (the customer's previous agent when free,
else the least loaded online agent) or queues it by priority until capacity frees up."""
