/* [metrics impl] */
