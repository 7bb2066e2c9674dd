import base from "@tokenvault/eslint-config/base";

export default base;
