// A run's or step's status as a badge (colour plus the word: never colour alone).
export function Status({ value }: { value: string }) {
  return <span className={`status status-${value.toLowerCase()}`}>{value.toLowerCase()}</span>;
}
