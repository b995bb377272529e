"""The front door's routes, one router per resource."""
