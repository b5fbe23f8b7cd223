/* [metrics decl] */
