// The runnable training example (see MiniNetwork.swift and Fit.swift).
