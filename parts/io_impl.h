/* [io impl] */
