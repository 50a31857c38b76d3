import{j as e}from"./index-D1HaawfO.js";function a({columns:t}){return e.jsx("thead",{children:e.jsx("tr",{children:t.map(r=>e.jsx("th",{scope:"col",children:r},r))})})}export{a as T};
