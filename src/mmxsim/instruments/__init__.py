"""Science instruments along a trajectory: observation geometry on the shape model,
NASA's MEGANE (gamma rays and neutrons), CNES' MIRS (near-infrared spectra), JAXA's
TENGOO and OROCHI cameras and the LIDAR."""
