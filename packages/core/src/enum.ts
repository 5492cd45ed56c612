/** The values of a frozen string-enum object, as a union type. */
export type EnumValue<T extends Readonly<Record<string, string>>> = T[keyof T];
