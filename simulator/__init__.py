"""tdc-simulator: a simulated email gateway with a Threat Defense Connector, over real SMTP and TLS."""

__version__ = "0.1.0"
