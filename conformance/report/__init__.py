"""Reports: per-requirement roll-up, the JSON document, and the HTML sections rendered from it."""
