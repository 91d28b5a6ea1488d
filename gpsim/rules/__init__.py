"""The submodels of the ODD's process overview, one module each.

Each function reads the start-of-month state (and this month's observations) and returns what should
change; :meth:`gpsim.model.GPModel.step` applies the changes together, so the update is synchronous.
"""
