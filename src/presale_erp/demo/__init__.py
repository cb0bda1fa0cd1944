"""A realistic presale demo: shops on five platforms, three warehouses, tea and mooncake SKUs, a live campaign."""
