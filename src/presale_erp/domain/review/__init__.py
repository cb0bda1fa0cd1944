"""Smart review (智能审单): small pure rules over an order and a context loaded in bulk for the whole batch."""
