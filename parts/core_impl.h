/* [core impl] */
