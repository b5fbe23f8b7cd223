/* [core decl] */
