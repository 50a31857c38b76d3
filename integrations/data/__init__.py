"""Data formats as a Baton integration (`data.*`): CSV and XLSX rows, PDF text, XML and HTML, gzip and zip.
See integrations/data/common.py for the inputs, outputs and bounds they share."""

from integrations.data import archives, documents, tables
from integrations.data.common import data

__all__ = ["archives", "data", "documents", "tables"]
