import { task } from "trellis";
export default task({ name: "one" }, async () => 1);
