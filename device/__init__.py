"""The kiosk at a service window: pure core, durable outbox, one adapter per library."""
