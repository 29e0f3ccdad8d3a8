policy p
per sample:
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
    equalize with probability 0.5
