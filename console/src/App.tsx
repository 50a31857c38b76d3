// The console's routes; api/console.py serves the page on each of them (keep both lists in step).
import { Route, Routes } from "react-router-dom";

export function App() {
  return (
    <Routes>
      <Route path="*" element={<main><h1>Baton</h1></main>} />
    </Routes>
  );
}
