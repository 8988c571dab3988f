"""HTTP plumbing shared by every service: errors as problem+json, auth, middleware, health."""
