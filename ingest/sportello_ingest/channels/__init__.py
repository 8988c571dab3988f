"""Channel adapters: each platform's webhook format, signature and send API behind one interface."""
