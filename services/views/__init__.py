"""The views: what the front door answers queries from and what the audit tools rebuild, made
from the integration events alone.

``read_model.ReadModel`` holds them; ``dispatch.VIEW_CHANGES`` says how each event changes
them (one function per event type, in ``clear_views``, ``hold_views``, ``build_views`` and
``agency_views``); ``projector`` feeds a live one from the streams. The API and the audit tools
both read them; neither one's modules are imported here.
"""
