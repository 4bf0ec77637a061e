"""CRM connectors: one package per CRM behind the small interface in :mod:`connectors.base`.

Everything CRM-specific (SOQL, filterGroups, association type ids, batch sizes, error codes) stays
inside a connector; the daemon only ever sees :class:`connectors.base.Connector`.
"""
