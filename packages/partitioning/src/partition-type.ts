import { InvalidConfigError } from '@pool/core';

/** The kinds of {@link PartitionType}, as a frozen enum object (`PartitionKind.Tenant === 'tenant'`). */
export const PartitionKind = Object.freeze({
  Tenant: 'tenant',
  User: 'user',
  Application: 'application',
  Service: 'service',
  ResourceGroup: 'resourceGroup',
} as const);

/** One of the {@link PartitionKind} values. */
export type PartitionKind = (typeof PartitionKind)[keyof typeof PartitionKind];

const KINDS: readonly PartitionKind[] = Object.freeze(Object.values(PartitionKind));

/** A partition for one tenant (`{ kind: 'tenant', name: 'ACME Corp' }`); `TenantBased` routing matches `request.tenant` to `name`. */
export interface TenantPartition {
  readonly kind: 'tenant';
  readonly name: string;
}
/** A partition for one user; `UserBased` routing matches `request.user` to `name`. */
export interface UserPartition {
  readonly kind: 'user';
  readonly name: string;
}
/** A partition for one application; `ApplicationBased` routing matches `request.application` to `name`. */
export interface ApplicationPartition {
  readonly kind: 'application';
  readonly name: string;
}
/** A partition for one service; `ServiceBased` routing matches `request.service` to `name`. */
export interface ServicePartition {
  readonly kind: 'service';
  readonly name: string;
}
/** A partition shared by a group (a pricing tier, a class of jobs); requests reach it through `routeKeys`, `assign()` or the default. */
export interface ResourceGroupPartition {
  readonly kind: 'resourceGroup';
  readonly name: string;
}

/**
 * What a partition is for: the seed's `PartitionType` enum, as tagged objects
 * (`PartitionType::Tenant("ACME Corp")` is `PartitionType.Tenant('ACME Corp')`, which is
 * `{ kind: 'tenant', name: 'ACME Corp' }`; plain object literals are accepted too).
 *
 * @example
 * ```ts
 * manager.createPartition('tenant_acme', PartitionType.Tenant('ACME Corp'), { maxConnections: 50 });
 * manager.createPartition('enterprise_tier', PartitionType.ResourceGroup('Enterprise'), { maxConnections: 100 });
 * ```
 */
export type PartitionType = TenantPartition | UserPartition | ApplicationPartition | ServicePartition | ResourceGroupPartition;

/** Constructors of the {@link PartitionType} variants. Each returns a frozen tagged object. */
export const PartitionType = Object.freeze({
  /** A partition for one tenant. */
  Tenant: (name: string): TenantPartition => make('tenant', name),
  /** A partition for one user. */
  User: (name: string): UserPartition => make('user', name),
  /** A partition for one application. */
  Application: (name: string): ApplicationPartition => make('application', name),
  /** A partition for one service. */
  Service: (name: string): ServicePartition => make('service', name),
  /** A partition for a group of requests (a tier, a workload class). */
  ResourceGroup: (name: string): ResourceGroupPartition => make('resourceGroup', name),
});

function make<K extends PartitionKind>(kind: K, name: string): { readonly kind: K; readonly name: string } {
  checkName(`PartitionType.${kind}`, name);
  return Object.freeze({ kind, name });
}

function checkName(field: string, name: unknown): void {
  if (typeof name !== 'string' || name.trim() === '') throw new InvalidConfigError(field, name, 'must be a non-empty string');
}

/** Validates a {@link PartitionType} given by the user and returns a frozen copy. Throws `InvalidConfigError`. */
export function checkPartitionType(type: unknown, field = 'type'): PartitionType {
  if (typeof type !== 'object' || type === null) {
    throw new InvalidConfigError(field, type, "must be a PartitionType such as PartitionType.Tenant('ACME')");
  }
  const { kind, name } = type as { kind?: unknown; name?: unknown };
  if (!KINDS.includes(kind as PartitionKind)) {
    throw new InvalidConfigError(`${field}.kind`, kind, `must be one of ${KINDS.map((k) => `'${k}'`).join(', ')}`);
  }
  for (const key of Object.keys(type)) {
    if (key !== 'kind' && key !== 'name') {
      throw new InvalidConfigError(`${field}.${key}`, (type as Record<string, unknown>)[key], 'is not a PartitionType field (kind, name)');
    }
  }
  checkName(`${field}.name`, name);
  return Object.freeze({ kind, name }) as PartitionType;
}
