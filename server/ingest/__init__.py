"""From the broker to stored rows and back: the collector's MQTT client, the ingestor that validates and
stores events and acks them, and the configs and invites it pushes to kiosks."""
