/**
 * @internal The scope of the database budget. A tenant's scope is `t:<tenant>`; a lease counts in the
 * database scope and, for a tenant's connections, in the tenant's scope too.
 */
export const DATABASE = '*';
