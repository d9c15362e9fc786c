"""Runtime: supervised replica processes and the route proxy in front of them."""
