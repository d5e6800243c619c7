"""The convention file of a territory: its parsing, its checks (French messages naming
the partner's or the QPV's id), and the reference data of every EPCI that `init --epci` uses."""
