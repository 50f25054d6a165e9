"""`hwgen report`: the class at a glance, from the gradebook: statistics (stats), charts (charts), the page (page)."""
