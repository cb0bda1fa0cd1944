"""Files the product hands out: report workbooks."""
