/* [io decl] */
