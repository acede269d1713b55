"""The back office: the collector that stores what kiosks send, and the managers' web app."""
